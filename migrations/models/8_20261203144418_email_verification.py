from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    # Accounts that exist before this migration are taken as verified, so nothing changes for
    # them; accounts registered after it are verified when their owner opens the emailed link
    # (services/verification.py). The ALTER's lock holds off inserts by still-running old
    # instances until the transaction commits, so no new account is marked by mistake.
    return """
        ALTER TABLE "users" ADD "email_verified_at" TIMESTAMPTZ;
        ALTER TABLE "users" ADD "pending_email" VARCHAR(254);
        UPDATE "users" SET "email_verified_at" = now();"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "users" DROP COLUMN "email_verified_at";
        ALTER TABLE "users" DROP COLUMN "pending_email";"""


MODELS_STATE = (
    "eJztXWtv2zgW/SuEv0yKzQSp82g2WCzgpE4n2yTuJu7MYJJCpSXGJiJTGonOA7P970tSkv"
    "UiZckPRdHwQ9GY4qWkw4fuubz38q/O1LGQ7e989ZHXOQZ/dQicIvZHqnwbdKDrxqW8gMKR"
    "LSrOWA1RAkc+9aBJWeE9tH3Eiizkmx52KXYIKyUz2+aFjskqYjKOi2YE/zlDBnXGiE7Eg9"
    "x+Y8WYWOgZ+dFP98G4x8i2Us+JLX5vUW7QF1eUnRN6Jiryu40M07FnUxJXdl/oxCHz2phQ"
    "XjpGBHmQIt489Wb88fnTha8ZvVHwpHGV4BETMha6hzObJl53ZMRlHcO4GgyNm/7QMDoVAD"
    "IdwsFlj+qLtx/zR/i5+37/w/7R3uH+EasiHnNe8uFHcOsYmEBQwHM17PwQ1yGFQQ2BcQwq"
    "71Pxdw7a0wn05NgmZTIIs0fPIhzhWQRxVBBjHI+rOkCewmfDRmRMJ+znXrcA0V9716e/9K"
    "639rrv+A0dNg2CyXEVXumKSxz0PMjGA3pZBuhIbj1gv+54rgtq/wHZiLKHWwbvpHDrQN8/"
    "KgH6/pESdH4pDTqaQmxXAXou0Dpwuwf7JdBltZTwimsSfI1H5GHWqGVAmsf6I4OL4ikqwD"
    "vbQAZ7K2xhJ/qjRE+EODdlHS9Afnh+2b8Z9i6/8Oanvv+nLVDrDfv8SleUvmRKtw4znTRv"
    "BPx2PvwF8J/gj8FVX6Dp+HTsiTvG9YZ/dPgzwRl1DOI8GdBKYhIVR0WpPncRsdi7GpXnVk"
    "5wqTnWsJ6tYZK50PefHM8yJtCfVAI8K9hCnah7cFAK8YMCxA+yiMORM6NGNd0zKVMfzp1O"
    "PSgf7ZZB+WhXjTK/lkbZdkxoV8I4lmjf0lFG91GrPjnNx0e+z57HQK5jShYNJT3NyS1mqu"
    "say7ubwnktTDUxbqFPDfSICDUqMf+cnIY2C+2MeAhaTPWgTB80IX8cvwLCKnENtALoKZvt"
    "cIyWwDgpqeHNwhvQGobJvWPbTI/OwXviODaCpIgUpaQzEI+Y+KYwjihqvTToZDC4SDGgk/"
    "Nh5mP39fKkf731XnwDWSVM0QLwTWc6RUTCScuhnxDX8C8Bv3pxKYd/wRKjO6CgA0LcDAsz"
    "8OQ6ygkeKxd4qXhrlvh/drt7ex+6u3uHRwf7Hz4cHO3O1/r8paJF/+T8E4c+1UUKXdFHSG"
    "LtLTaMpQTXYBBrHIvnWsSA2C/hjHsjFrJwcSg0kJns1ehS1tC0pO71pvc63xG+f0hsX/KC"
    "ETQfnqBnGakr8fCgzgOSsZqTUO7s8zWyBXeRDIJwS7zn4iFv5g0OgR/RoI9K46EQY8S6BV"
    "FjHUh9CW2g17zFVmMWkAXkGR6SmOWrYHY2px3txYlvRGigCoHiC+Sqs4810VZ4Qnq4IkKn"
    "MclsI0gLLHlVkLpKNNVWuIR1eEWcuLtc/7HFY8pDJsKPqMh6WQWvy6CVtqLl8/0GjVQJpP"
    "6x6kpOHpHnt3p9MhPvuPKHr/1wjWzHfGAL1UjiXFkFqxPeTqtBWnEwtRogCv1V8RmyJtoK"
    "j29OkDWz2TRbA2G5iRprG3Phlimn66hsVflL0+40WwIJ+/pb4b35nbLWKEnwRtJSpQ7ggC"
    "5OWHt0FEd9BtkNR3GITq3suJiWap0r9mEZJ9FDtY/oYc5FVG85qKFv15ZDylrw7GLW2jJu"
    "9ynJFvb6G+nlCJPCbubBP9U8DRMS9W3cN/wrldurSwOcR/fM8RAek8/oRYB8zp4IElPmfZ"
    "yJU31j4KpURlbswae5opQcVOzdLR6HFnzGezenvY/9zg/15ucmlU/JBp9EDZVvA6oV0nno"
    "RHYnUuumb2rWa91U66bNXXq1bqp108b2clnddJmZnRDTwb4N71/NPVbWQjT3aCf3CP2/JH"
    "wj9gxTc4zAEW0DrOJ27gsoRlbwt9X5lmEbt/GluJoXVNMspC4WotVjNfTtVY+jmVft25qR"
    "0t9XScTN3A16GWS15lJec0l9Y7T2UqC9ZAaXXIORrQ4a2pLQWg1UDoUHicwUHXqWFBifIz"
    "+WjRqbb/kXauKI0YGtimpfUQBpyzS/WiJG1frhyLEqpWaM6rcx19NGshBBMp6FXs1lMU7K"
    "tC7X05oTEVE4lvjk9TwPvig2WEKBDLA23pxDXudf9zNictjAaIZtiom/w+/3700hXm6P5f"
    "ab3krRXDH8TFfjMykZzWYWs5lYF9IKd5HCnRpYVdVtHTxZzfHfg8S31xFsM4xberP7afX6"
    "tEdDS0LgEqNOzeGSA3zDNM4NCaUmcZrENXGt0yTuzZM4TTzUuGvioYmHus/zG1S8kyon5U"
    "sItQnUGj7LBZwvUpxWZHwtCxXdzjC+xNBbvHOlaXStNFozxNdjiKl8RBKamM1XpOaKuSRJ"
    "GyaMkc+hJoyNJYwP7OXlZKZPZtPcGprqiUi2yeSxcza4uBj8xhoTG/h35HRwedm/Gh6D0H"
    "ByR4a9m8/Gl+vBp+v+zQ0bA9B/MFzP4fqtmCSvf6Qb7718J/3nZnAlnyJR/SwLwiYF/wN1"
    "b3Dx277GBhfHJ0WAIoi3Lnu/Z9E/vRicZJkNb+BEE1RNUMWbLdHlCTEdfaKjTxo9eXX0ye"
    "uTtYZGn8SJPiXsI5UFtPjkbCPOOrqQeHR6wEWe7xBoAyEGoA8wBU/sP55p8hhs8Sa3QXTO"
    "1TuAfWAh4iMAiQUw4d9bn/UKbweIulllbhP3uCO+AyAwbczboxNIgQ+fwuavAM+wxlRRjx"
    "d4bIhzWXhPmfSVaBKCMXT5XR6xjxl0Ox051Yq51fycr2zUjSZcjSRcS5zn9jpHuTX8Y5NK"
    "/lzx+PYWH92+/rQKLnyxHSgZr2r+mRCpn4K+jsqryaYmm6l6y5NNTUY0GdFkREVGotzwEi"
    "qSSBuvJiLJDPXrjoZnpMEKxkSg/8vU8mQtD5nYxSF30pskjdXZtVfdXL98v7tbxq2OV1Pq"
    "mMHFjKoznzAVcE4Jte+kdp0iTSuU69m9CD8z1bTKrJhWLSWmh+BjXg3YlIxGdbHCHmtMWm"
    "UvUtlTA2uxD11K/dTIFiGbXQubxIhSBxxJw4jSByAVxRJlTl1avE0zIEhsfPzkAx9bCDj3"
    "fPcj0c4x++05T2KHJNxOcaFH2Sh5tw0ekEsBJoBRKOCHRtnUDs16m78jwo8RBg4q0A92YU"
    "BICbeB74iqmIycZ74J4xD+QwxMwNWDxbsx4b0lrC+qMXOtSJHSdK+ZdE8ciR6dTl+1KyTC"
    "+kz7Fc60Fz40S3VCQlL3wHI9MCMcxCqW6LlAayBfG1VIrPw5QBdkMU5JavL9lsh3qBFUY4"
    "hpIU0RZbNJ75LpXbLXJ4YLd8kka4FGdWEoYGr9axLZDg6AlbDs+cmwanodH0C77o3H4Pxf"
    "MSLCo4BXcwf8uxBNnWxb63pr1PWiY7grTam0kNZMJLpeuLwtg6vW+MprfImviFZPitST9N"
    "BarPdF32QNbClgm5hkWxxsL1H7ogPv1VofjyeuM9g+cm5PKBLVNhrU/jYrONosof4lYomn"
    "2PQcNjjGOyHsHNQdgp4MEa2NrY3FF28mtFutOOpQhg3G0bPVlc4k+UvKpTuIpWvM4saqzp"
    "BVcXR3/vu1/7X/8RgE0nekdzo8/7V/DPjO5yMSSRC+XPSHfZEFweVL7B05651fcJl7iO3w"
    "jlV9Aw/LeAZm9fOEX+BhLvYkkYahrOk0IaL3ILKaNEOGP18OTnUsTyyxUihPwxwt647kQZ"
    "4ny1Y1RM+qmL9IoA1urUUUv//7sBjtOcO/GFx9iqpnuyCNNqQUTV1Z0md1OsGEiF42ssuG"
    "NmepoW6vOUtvWLet1yOMEt2eSwZ/jwn2J0t1e0ZU57xpTjdLZrfeQNcb6K9v8mtomOmNyd"
    "axGSPCqtP10hW2iyyAflTVKH/gHs9NwyqDJw8zzZQANosBdQC7CYIesNk48I4BJmGaGLCF"
    "KXdYJg4FMBB8QfQdmBGKbeHT/OR4oWk/mwFn/Xe5I+5sZPMvgUinAyn4HhawD8P3bfA0we"
    "YEBJqhL+REWzz/jYdMx7O4GPtngQnylClwcgbQOCVwfLcOq3Wb+q19rhvpc61DbDd7cEVi"
    "ClRU6tKSLdTl26TUvUrO/4Yp6a/jKq9NJOoOeZtkWZtI/o69XsZEos+r6WyePusTPsoR6J"
    "VO+Nioy0zipA+Z50z6IJACB5rM2SNlufNPPnA8ES4sEv2znxQ9UxA1hywwemGXE80DNlIe"
    "sYnCyGGep3XsONYxDwRWUOf13oQxZx7HLOgwKw8b3Qac7WwDCj1Gf0F0nty7HfCdXzAm0J"
    "9858ScU+mbX3o/dw8OeaQ0/xk8zQTSO8LT2sbPJaKdIQHIwuIpWUOiifjB4ZiNOnXIc3So"
    "0fwRgk7jjxiwbjM+vlJaZxUHdU3M6yTm866rws7nQi2k6OvPzBROigoYxxItBHj9rkS+M/"
    "NMZCxzgKdEVENeznvrEUsT96ixTspokEuALDecqh2LWmU4rduxSBt51OP8bdL9MkaeUJGt"
    "bFdNy2nT6rKmVW3UrhP5ApNMvefYNqwHSseuVznGNsGRVwT1NG6pnbimV9MmGbp6yMPmpC"
    "OxcYVXtovMWzCus8kAMR3/X2f8P89PGBo2yzKfhEgrdPOMU8PBQRmnhoMDtVMDv5bx82eT"
    "qgLCYfUWovu+bFL2opzsuWThDqHSb5M6WCghog/+qRgulNO76vyY/fg/1ZKCQw=="
)
