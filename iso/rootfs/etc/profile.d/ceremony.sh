export LANG=C.UTF-8
case "$(tty 2>/dev/null)" in
  /dev/tty[2-9]) cat /etc/ceremony/motd 2>/dev/null ;;
esac
