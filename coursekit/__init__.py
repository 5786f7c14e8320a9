"""coursekit: set up, diagnose and grade the deep-learning course's environment and labs.

This module must stay import-light: ``coursekit --help`` imports it, and the lab
grader imports it inside the course environment's own Python.
"""

__version__ = "0.1.0"
