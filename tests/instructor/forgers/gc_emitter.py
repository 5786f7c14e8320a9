import gc
for obj in gc.get_objects():
    if type(obj).__name__ == "_Emitter" or callable(obj) and getattr(obj, "__name__", "") == "emit":
        forge(obj)
