"""How alike two faces are, in words a person can weigh, instead of a raw template distance.

Why words: "[0.37]" means nothing to a front-desk worker or to the person in front of them, and a
number invites false precision. The level is relative to the match threshold in use (a setting),
so it stays meaningful when a site tunes that threshold.
"""

from __future__ import annotations

from typing import Literal

SimilarityLevel = Literal["very_high", "high", "moderate"]

#: At or below this fraction of the match threshold a match is "very high": with dlib's model
#: (threshold 0.6) that is 0.45, where the shared test photos of one person mostly fall.
VERY_HIGH_FRACTION = 0.75


def similarity_level(distance: float, threshold: float) -> SimilarityLevel:
    """``very_high`` well inside the threshold, ``high`` up to it, ``moderate`` beyond it (the
    lookalike band, where the face only resembles someone)."""
    if distance <= threshold * VERY_HIGH_FRACTION:
        return "very_high"
    if distance <= threshold:
        return "high"
    return "moderate"
