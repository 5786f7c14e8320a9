"""A submission that tries every escape it knows and reports which were allowed.

It raises at import with the list, so the check's message carries it back to the test.
"""
import os
import sys

ALLOWED = []


def attempt(name, fn):
    try:
        fn()
    except BaseException:  # noqa: BLE001
        return
    ALLOWED.append(name)


def _gen_frame():
    box = []

    def g():
        box[0].gi_frame
        yield 1

    box.append(g())
    next(box[0])


def _tb_frame():
    try:
        raise ValueError
    except ValueError as exc:
        exc.__traceback__.tb_frame


def _secret_paths():
    import importlib.util
    spec = importlib.util.find_spec("coursekit")
    roots = []
    if spec and spec.origin:
        pkg = os.path.dirname(spec.origin)
        roots += [os.path.join(pkg, "_data", "labs"), os.path.join(os.path.dirname(pkg), "labs")]
    return [os.path.join(r, "02-vanishing-gradients", f) for r in roots
            for f in ("solution/vanishing.py", "grader.py")]


def _read_secret():
    for p in _secret_paths():
        if os.path.exists(p):
            open(p).read()
            return
    raise FileNotFoundError


def _from_file():
    import torch
    for p in _secret_paths():
        if os.path.exists(p):
            torch.from_file(p, size=10, dtype=torch.uint8)
            return
    raise FileNotFoundError


def _code_swap():
    import coursekit.grading.api as api
    api.run_check.__code__ = (lambda spec, ctx: None).__code__


def _thread_trace():
    import threading
    threading.settrace(lambda *a: None)
    sys.settrace(lambda *a: None)


def _own_hook():
    seen = []
    sys.addaudithook(lambda event, args: seen.append(event))  # refused hooks are dropped silently
    open(os.devnull).close()
    if not seen:
        raise RuntimeError("the hook was not added")


def _fake_find_caller():
    import logging

    def findCaller():  # noqa: N802 - named like logging's own, to fool a name check
        return logging.currentframe()

    findCaller().f_back


def _namedtuple_ok():
    """Reported (as 'broke') when ordinary code that looks up module names stops working."""
    try:
        import collections
        import enum
        import logging
        import typing
        collections.namedtuple("P", "x y")
        typing.TypeVar("T")
        enum.Enum("Color", "RED GREEN")
        logging.getLogger("x").warning("logging works")
    except Exception:  # noqa: BLE001
        return
    raise RuntimeError("works")


attempt("namedtuple/TypeVar/Enum/logging broke", _namedtuple_ok)
attempt("logging.currentframe", lambda: __import__("logging").currentframe().f_back)
attempt("fake findCaller", _fake_find_caller)
attempt("gc.get_objects", lambda: __import__("gc").get_objects())
attempt("gc.get_referrers", lambda: __import__("gc").get_referrers(os))
attempt("sys._getframe", lambda: sys._getframe())
attempt("inspect.currentframe", lambda: __import__("inspect").currentframe().f_back)
attempt("inspect.stack", lambda: __import__("inspect").stack())
attempt("traceback.walk_stack", lambda: list(__import__("traceback").walk_stack(None)))
attempt("tb_frame", _tb_frame)
attempt("gi_frame", _gen_frame)
attempt("sys._current_frames", lambda: sys._current_frames())
attempt("sys.settrace", _thread_trace)
attempt("sys.setprofile", lambda: sys.setprofile(lambda *a: None))
attempt("ctypes", lambda: __import__("ctypes").string_at(id(sys), 8))
attempt("subprocess", lambda: __import__("subprocess").run([sys.executable, "-c", "1"]))
attempt("os.system", lambda: os.system("true"))
attempt("os.fork", lambda: os.fork())
attempt("socket", lambda: __import__("socket").socket())
attempt("read solution or grader", _read_secret)
attempt("torch.from_file", _from_file)
attempt("torch.ops.load_library", lambda: __import__("torch").ops.load_library("/nonexistent.so"))
attempt("os.memfd_create", lambda: os.memfd_create("x"))
attempt("/proc/self/mem", lambda: open("/proc/self/mem", "rb").close())
attempt("/proc/self/environ", lambda: open("/proc/self/environ", "rb").read())
attempt("parent cmdline", lambda: open(f"/proc/{os.getppid()}/cmdline", "rb").read())
attempt("listdir /", lambda: os.listdir("/"))
attempt("listdir ..", lambda: os.listdir(".."))
attempt("write cwd", lambda: open("forged.txt", "w").close())
attempt("write tmp", lambda: open(os.path.join(os.path.dirname(os.getcwd()), "x.txt"), "w").close())
attempt("os.remove", lambda: os.remove("nothing-here"))
attempt("resource.setrlimit", lambda: __import__("resource").setrlimit(
    __import__("resource").RLIMIT_AS, (-1, -1)))
attempt("sys.addaudithook", _own_hook)
attempt("__code__ swap", _code_swap)
attempt("os.kill parent", lambda: os.kill(os.getppid(), 0))
raise RuntimeError(f"ALLOWED={ALLOWED}")
