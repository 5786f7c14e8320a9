"""Lab grading. ``api`` is what graders import; it runs inside the course env's Python."""
