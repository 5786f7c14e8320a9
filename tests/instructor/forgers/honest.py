# (no attack: the baseline the forgers are compared with)
