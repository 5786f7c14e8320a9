import inspect
for info in inspect.stack():
    if "emit" in info.frame.f_locals:
        forge(info.frame.f_locals["emit"])
