# store: nothing built yet
