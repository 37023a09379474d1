"""The API's refusals in Spanish, the operators' language (the ``code`` stays an English identifier).

Validation problems are worded by the product's one translator, :mod:`protocols.messages_es`
(shared with ``caudal edge check``); this module adds the server's own sentences.
"""

from __future__ import annotations

from protocols.messages_es import NOT_A_TIME, TEMPLATES, WITH_OFFSET, problem

__all__ = ["BAD_CURSOR", "NOT_A_TIME", "TEMPLATES", "WITH_OFFSET", "problem"]

BAD_CURSOR = (
    "cursor {cursor!r} no es uno que haya entregado este servidor: use el next_cursor de la página"
    " anterior, o ninguno para la primera página"
)
