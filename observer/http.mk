# observer (HTTP probe, C2 farm): nothing built yet
