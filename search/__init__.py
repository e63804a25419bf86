"""Multimodal search over a collection of pictures and spoken captions.

Nothing in this package knows about Telegram: the command line (`search.cli`)
and the bot (`bot/`) both call `search.service.SearchService`.
"""
