from mediafeed.cli import main

main()
