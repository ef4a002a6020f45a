# stix: nothing built yet
