import { useEffect, useState } from 'react';

// The screen named in the URL hash (#/decisions), so each screen has a link.
export function useHashScreen(screens) {
  const current = () => {
    const name = window.location.hash.replace(/^#\/?/, '').split('?')[0]; // #/symbol?ETH%2FUSD
    return screens.includes(name) ? name : screens[0];
  };
  const [screen, setScreen] = useState(current);
  useEffect(() => {
    const onHash = () => setScreen(current());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return [screen, setScreen];
}
