"""The register: marks and the one audited door for changing them."""
