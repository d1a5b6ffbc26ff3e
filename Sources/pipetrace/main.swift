print("pipetrace")
