"""What every demo does when run as a script: read --out and --quick, run main."""

import argparse


def run_demo(main, doc, quick_help):
    """Parse ``--out FOLDER`` and ``--quick`` and call ``main(out, quick)``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the pictures")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    args = parser.parse_args()
    main(args.out, args.quick)
