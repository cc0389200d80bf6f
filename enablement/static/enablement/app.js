// Enablement Library: small progressive enhancements
