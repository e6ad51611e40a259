"""edgebench: which student network should I deploy on this edge device, and what will it cost?"""

from edgebench.exceptions import EdgebenchError
from edgebench.types import Precision, Source, Status

__version__ = "0.1.0"
__all__ = ["EdgebenchError", "Precision", "Source", "Status", "__version__"]
