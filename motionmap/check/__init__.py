"""Sheet doctor: find the frames of a sprite sheet that do not fit the rest (see motionmap.check.detect)."""
