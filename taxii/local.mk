# taxii: nothing built yet
