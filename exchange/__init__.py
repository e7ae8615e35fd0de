"""Data exchange: exports, historical imports, REDCap and FHIR."""
