def tracer(frame, event, arg):
    f = frame
    while f is not None:
        if "emit" in f.f_locals:
            forge(f.f_locals["emit"])
        f = f.f_back
    return tracer
sys.settrace(tracer)
