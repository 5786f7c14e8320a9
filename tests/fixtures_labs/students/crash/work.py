"""Crashes the interpreter (SIGSEGV) while being imported."""
import ctypes

ctypes.string_at(0)
