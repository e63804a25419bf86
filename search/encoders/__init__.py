"""Encoders that map queries and items into a shared embedding space.

`search.encoders.seed` holds the research team's two ResNet-18 towers,
which place spoken captions and photos in one 256-dimensional space.
"""
