"""Exception types for input the search cannot use.

Every message is a sentence a user can read: the CLI prints it as it is and
the bot sends it as its reply, so no message contains a path from the
server's disk or a stack trace.
"""


class SearchError(Exception):
    """Base class for every error caused by the input rather than by a bug."""


class AudioDecodeError(SearchError):
    """The audio could not be decoded (corrupt, empty or not audio at all)."""


class NoSpeechError(SearchError):
    """The audio decoded, but it holds silence or no recognisable speech."""


class ImageDecodeError(SearchError):
    """The file is not an image, or the image is truncated or corrupt."""


class ImageTooLargeError(SearchError):
    """The image has more pixels than the configured limit."""


class EmptyQueryError(SearchError):
    """A text query with nothing to search for."""


class UnknownCollectionError(SearchError):
    """The requested collection has no index in the data folder."""


class WeightsError(SearchError):
    """Seed encoder weights are missing, altered or do not fit the architecture."""


class ConfigurationError(SearchError):
    """A setting names a model, folder or engine that cannot be used."""
