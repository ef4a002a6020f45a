# bench: nothing built yet
