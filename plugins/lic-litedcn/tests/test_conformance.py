from lic_core.testing import conformance_tests

test_conformance = conformance_tests("litedcn")
