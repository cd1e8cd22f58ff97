"""The viewer age gate per jurisdiction, GeoIP, and creators' geo-blocks (issue 6)."""
