# conf: nothing built yet
