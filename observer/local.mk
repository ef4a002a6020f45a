# observer: nothing built yet
