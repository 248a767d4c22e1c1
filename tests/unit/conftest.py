"""Make the collection importable as ansible_collections.mailops.window from a plain checkout."""

import pathlib
import sys

COLLECTIONS = pathlib.Path(__file__).resolve().parents[2] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
