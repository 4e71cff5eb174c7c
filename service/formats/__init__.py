"""Other shapes of the API's documents: analyst codes, CSV rows, STIX 2.1 bundles.

Pure functions over the JSON documents the API serves (``service.schemas.responses``)
and the request bodies it takes: no Flask, no database.
"""
