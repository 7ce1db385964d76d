"""Setting Jupyter up for the tutorial notebooks (what `make notebook` runs before starting the
server): the "greymatter" kernel (kernelspec.py) and a working copy of the notebooks outside the
repository's files (workspace.py).

    python -m greymatter.jupyter --notebooks notebooks --into notebooks/work
"""
