print("hello from K5")
