"""Linux nftables driver: egressctl's own ``inet egressctl`` table, applied atomically with ``nft -f``."""
