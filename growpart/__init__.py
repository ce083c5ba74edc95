"""growpart: grow the data partition and its filesystem to fill the disk (DESIGN §3, issue 5).

Modules: `gpt` (pure GPT parse/verify/grow), `disk` (the open, locked device or image),
`write` (crash-safe write order), `find` (which partition), `kernel` (BLKPG / partx),
`fs` (ext4 / xfs growth), `grow` (the whole run), `stage` (boot stage), `cli`.
"""
