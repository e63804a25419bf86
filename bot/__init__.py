"""Telegram front end of saysee: voice notes find pictures, photos find spoken captions.

The bot only handles chats and files; every search goes through
`search.service.SearchService`, the same service the command line uses.
"""
