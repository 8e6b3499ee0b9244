"""A registry's storage, read-only: its directory or S3 bucket (backends), opened and checked
from what the user gives or from the registry's own config (opening), and read whole into
what no API call can list: every manifest revision, tagged or not, each tag's history, every
blob's size (layout)."""
