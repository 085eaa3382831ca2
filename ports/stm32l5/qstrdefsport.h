// qstrs specific to the K5 STM32L5 port (most are found automatically in the sources).
