"""Managed exchange credentials: encrypted at rest (Vault/OpenBao transit, or a local
key when no Vault is configured), tested with the exchange, handed out only when usable.

Modules: ``cipher`` (interface), ``transit_cipher``, ``local_cipher``, ``cipher_choice``
(which one the configuration asks for), ``model`` (records and checks),
``permission_check`` (ccxt), ``manager`` (the operations), ``provider`` (for venues).
Nothing is imported here, so the storage layer can import ``model`` without a cycle.
"""
