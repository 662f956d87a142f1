"""Sample egressctl driver plugin: the ``sample_acl`` platform (see ``driver.py`` and ``acl.py``)."""
