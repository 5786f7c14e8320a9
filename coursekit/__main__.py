"""``python -m coursekit`` runs the command-line interface."""

from coursekit.cli import main

if __name__ == "__main__":
    main()
