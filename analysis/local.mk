# analysis: nothing built yet
