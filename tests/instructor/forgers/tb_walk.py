try:
    raise ValueError
except ValueError as exc:
    f = exc.__traceback__.tb_frame
while f is not None:
    if "emit" in f.f_locals:
        forge(f.f_locals["emit"])
    f = f.f_back
