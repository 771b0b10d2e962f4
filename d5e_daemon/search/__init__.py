"""Search's machinery, each part taking what it uses (a connection, counts, the passage index,
the renderer); none knows the `App`, which wires them once and tells them when packs change.

- `builder`: the index (filter attributes, keyword texts, passage vectors), built incrementally;
- `retrieval`: the keyword and semantic candidates of a search, quickly at any library size;
- `passages`: an entry's text split into passages, and their vectors in memory;
- `counts`: how many rows of an FTS5 index hold a term, remembered until packs change;
- `embed`: the embedding model (`Embedder`), the real one and a fake one for tests;
- `spelling`: British and American spellings of a query word (`armour` ~ `armor`).

What is searched and how lists are ranked and fused is `features/search.py`.
"""
