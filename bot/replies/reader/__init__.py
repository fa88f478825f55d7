"""The learned reader: a character n-gram model trained on the labelled corpus in ``bot/replies/corpus``.

``features`` turns a reply into character n-grams (identically at training and run time), ``train``
rebuilds ``model.npz`` from the corpus (``attendance-bot reason train``), ``model`` loads it once per
process and reads a reply, ``alarms`` is the concern safety net and ``language`` names the language.
"""
