"""Command-line entry points over the public API: ``twopoint``, ``twopoint-aggregate``, ``twopoint-figure``,
``twopoint-regress``, ``twopoint info``."""
