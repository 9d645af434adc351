from kangfu.cli import main

main()
