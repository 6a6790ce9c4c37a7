#!/usr/bin/env python
"""Same as python -m kehu."""

from kehu.__main__ import main

if __name__ == "__main__":
    main()
