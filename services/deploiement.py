"""Déploiement sur plusieurs processus Streamlit derrière nginx, avec sessions collantes.

Un processus Streamlit n'utilise qu'un cœur : ``desimper serveur --processus N --mandataire`` lance N
processus (ports ``premier_port`` … ``premier_port + N - 1``, sur 127.0.0.1) et nginx devant eux. Tous
partagent :

- le **magasin PostGIS** (``DESIMPER_BASE_URL``) : sessions de connexion, compteur d'échecs, opérations ; les
  caches de chaque processus sont indexés par la révision lue dans la base (``pages/commun.revision_magasin``),
  une écriture faite par un processus est donc vue par les autres à leur exécution suivante ;
- le **dossier de données** (``DESIMPER_DONNEES``), lu par tous (couches, modèles en cache) ;
- le **secret des cookies Streamlit** (``STREAMLIT_SERVER_COOKIE_SECRET`` : jeton XSRF des téléversements,
  cookie de ``st.login``), tiré au hasard au lancement s'il n'est pas fourni.

SQLite n'est pas un magasin partagé entre processus servis par un mandataire (verrou d'écriture unique, pas
de serveur) : plus d'un processus exige PostgreSQL + PostGIS (:func:`verifier_magasin_partage`).
La configuration nginx vient du gabarit ``gabarits/nginx_desimper.conf.j2`` (:func:`generer_configuration_nginx`).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import jinja2

from donnees.erreurs import ErreurDonnees

__all__ = ["COOKIE_ROUTE", "PlanDeploiement", "generer_configuration_nginx", "lire_taille_max_televersement",
           "servir_multiprocessus", "trouver_nginx", "verifier_magasin_partage"]

RACINE = Path(__file__).resolve().parents[1]
GABARIT_NGINX = Path(__file__).resolve().parent / "gabarits" / "nginx_desimper.conf.j2"
CONFIG_STREAMLIT = RACINE / ".streamlit" / "config.toml"
COOKIE_ROUTE = "desimper_route"  # cookie de répartition posé par nginx (aucune donnée de session)
PREMIER_PORT_PROCESSUS = 8601
PROCESSUS_MAX = 32
# Délais et tolérances de nginx (s) : connexion à un processus local, websocket inactif (onglet ouvert sans
# action : Streamlit n'y envoie rien), mise à l'écart d'un processus qui a échoué.
DELAI_CONNEXION_S = 5
DELAI_WEBSOCKET_S = 3600
ECHECS_MAX = 2
DELAI_ECHEC_S = 10
CONNEXIONS_GARDEES = 16
DELAI_DEMARRAGE_S = 120  # démarrage d'un processus Streamlit (import de geopandas, etc.)
_CARACTERES_INTERDITS_CHEMIN = re.compile(r'["\\;{}$\s]')


@dataclass(frozen=True)
class PlanDeploiement:
    """Ports et dossier d'exécution d'un déploiement : processus Streamlit et mandataire nginx."""

    nombre_processus: int
    port_mandataire: int = 8501
    adresse_mandataire: str = "127.0.0.1"
    premier_port: int = PREMIER_PORT_PROCESSUS
    dossier_execution: Path | None = None  # défaut : <temp>/desimper-mandataire-<port du mandataire>
    flux_agenda: Path | None = None  # agenda abonnable écrit par `desimper agenda exporter`, servi en /agenda.ics

    def __post_init__(self) -> None:
        if self.dossier_execution is None:
            object.__setattr__(self, "dossier_execution",
                               Path(tempfile.gettempdir()) / f"desimper-mandataire-{self.port_mandataire}")

    @property
    def ports(self) -> tuple[int, ...]:
        """Ports des processus Streamlit (127.0.0.1)."""
        return tuple(range(self.premier_port, self.premier_port + self.nombre_processus))


def verifier_magasin_partage(url: str, nombre_processus: int) -> None:
    """Refuse (ErreurDonnees) plus d'un processus sans magasin PostgreSQL partagé."""
    if not 1 <= nombre_processus <= PROCESSUS_MAX:
        raise ErreurDonnees(f"Nombre de processus invalide ({nombre_processus}) : entre 1 et {PROCESSUS_MAX}.",
                            "processus")
    if nombre_processus > 1 and not url.startswith("postgresql"):
        raise ErreurDonnees(
            f"{nombre_processus} processus demandent un magasin partagé PostgreSQL + PostGIS : définissez "
            "DESIMPER_BASE_URL (ex. postgresql+psycopg://desimper@/desimper) ; SQLite ne sert qu'un processus.",
            "DESIMPER_BASE_URL")


def lire_taille_max_televersement(config: Path = CONFIG_STREAMLIT) -> int:
    """Plafond d'un téléversement (Mo) : ``server.maxUploadSize`` de la configuration Streamlit (200 par défaut,
    valeur documentée de Streamlit)."""
    try:
        reglages = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return 200
    return int(reglages.get("server", {}).get("maxUploadSize", 200))


def _verifier_chemin(chemin: Path) -> str:
    texte = str(Path(chemin).resolve())
    if _CARACTERES_INTERDITS_CHEMIN.search(texte):
        raise ErreurDonnees(f"Dossier d'exécution de nginx inutilisable ({texte!r}) : choisissez un chemin sans "
                            "espace, guillemet, point-virgule, accolade ni $.", "dossier_execution")
    return texte


def generer_configuration_nginx(plan: PlanDeploiement, complete: bool = True) -> str:
    """Configuration nginx du plan : complète (``nginx -c``, pid, journaux et fichiers temporaires dans le dossier
    d'exécution) ou, ``complete=False``, les seuls blocs ``map``/``upstream``/``server`` à inclure dans le
    ``http {}`` d'un nginx système (/etc/nginx/conf.d/)."""
    environnement = jinja2.Environment(loader=jinja2.FileSystemLoader(GABARIT_NGINX.parent), autoescape=False,
                                       undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    if not re.fullmatch(r"[0-9A-Za-z.:\[\]*-]+", plan.adresse_mandataire):
        raise ErreurDonnees(f"Adresse d'écoute invalide : {plan.adresse_mandataire!r}.", "adresse")
    return environnement.get_template(GABARIT_NGINX.name).render(
        complete=complete, ports=plan.ports, port_mandataire=int(plan.port_mandataire),
        adresse=plan.adresse_mandataire, dossier=_verifier_chemin(plan.dossier_execution) if complete else "",
        cookie_route=COOKIE_ROUTE, taille_max_mo=lire_taille_max_televersement(),
        delai_connexion_s=DELAI_CONNEXION_S, delai_websocket_s=DELAI_WEBSOCKET_S, echecs_max=ECHECS_MAX,
        delai_echec_s=DELAI_ECHEC_S, connexions_gardees=CONNEXIONS_GARDEES,
        flux_agenda=_verifier_chemin(plan.flux_agenda) if plan.flux_agenda else None)


def trouver_nginx() -> str | None:
    """Chemin de l'exécutable nginx (PATH, puis /usr/sbin), ``None`` s'il manque."""
    return shutil.which("nginx") or next((c for c in ("/usr/sbin/nginx",) if Path(c).exists()), None)


def ecrire_configuration_nginx(plan: PlanDeploiement) -> Path:
    """Écrit la configuration complète dans le dossier d'exécution et la fait vérifier par ``nginx -t``."""
    nginx = trouver_nginx()
    if nginx is None:
        raise ErreurDonnees("nginx est introuvable : installez le paquet Debian « nginx » (apt-get install nginx).",
                            "nginx")
    dossier = Path(plan.dossier_execution).resolve()
    for sous in ("corps", "mandataire", "fastcgi", "uwsgi", "scgi"):
        (dossier / "temp" / sous).mkdir(parents=True, exist_ok=True)
    chemin = dossier / "nginx.conf"
    chemin.write_text(generer_configuration_nginx(plan), encoding="utf-8")
    verification = subprocess.run([nginx, "-t", "-q", "-p", str(dossier), "-e", str(dossier / "erreurs.log"),
                                   "-c", str(chemin)], capture_output=True, text=True, timeout=30)
    if verification.returncode != 0:
        raise ErreurDonnees(f"Configuration nginx refusée ({chemin}) : {verification.stderr.strip()}", "nginx")
    return chemin


def environnement_processus(environnement: dict | None = None) -> dict:
    """Variables communes aux processus : secret des cookies Streamlit partagé (tiré au hasard s'il manque)."""
    environnement = dict(os.environ if environnement is None else environnement)
    environnement.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_urlsafe(32))
    return environnement


def lancer_processus_streamlit(port: int, environnement: dict, journal, options: list[str]) -> subprocess.Popen:
    """Un processus ``desimper serveur`` sur 127.0.0.1:port (sortie dans ``journal``)."""
    return subprocess.Popen([sys.executable, str(RACINE / "cli.py"), "serveur", "--port", str(port), "--adresse",
                             "127.0.0.1", "--server.headless", "true", *options],
                            cwd=RACINE, env=environnement, stdout=journal, stderr=subprocess.STDOUT)


def attendre_sante(url: str, processus: subprocess.Popen | None = None, delai_s: float = DELAI_DEMARRAGE_S) -> None:
    """Attend que ``url``/_stcore/health réponde 200 ; ErreurDonnees si le délai passe ou si le processus meurt."""
    limite = time.monotonic() + delai_s
    while time.monotonic() < limite:
        if processus is not None and processus.poll() is not None:
            raise ErreurDonnees(f"Le processus servant {url} s'est arrêté (code {processus.returncode}).", "serveur")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reponse:
                if reponse.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise ErreurDonnees(f"{url} ne répond pas après {delai_s:.0f} s.", "serveur")


def lancer_nginx(chemin_configuration: Path) -> subprocess.Popen:
    """nginx au premier plan (``daemon off``) avec cette configuration complète."""
    dossier = chemin_configuration.parent
    return subprocess.Popen([trouver_nginx(), "-p", str(dossier), "-e", str(dossier / "erreurs.log"),
                             "-c", str(chemin_configuration), "-g", "daemon off;"])


def arreter_processus(processus: list[subprocess.Popen], delai_s: float = 10) -> None:
    """Arrête ces processus (SIGTERM, puis SIGKILL après ``delai_s``)."""
    for un in processus:
        if un.poll() is None:
            un.terminate()
    limite = time.monotonic() + delai_s
    for un in processus:
        try:
            un.wait(timeout=max(0.1, limite - time.monotonic()))
        except subprocess.TimeoutExpired:
            un.kill()
            un.wait()


def _interrompre(*_) -> None:
    """SIGTERM (systemd, docker stop) traité comme Ctrl+C : tous les processus sont arrêtés proprement."""
    raise KeyboardInterrupt


def servir_multiprocessus(plan: PlanDeploiement, url_magasin: str, options: list[str] | None = None) -> int:
    """Lance les processus Streamlit puis nginx devant eux, au premier plan, jusqu'à Ctrl+C ou SIGTERM (ou
    l'arrêt de l'un d'eux) ; renvoie le code de sortie."""
    verifier_magasin_partage(url_magasin, plan.nombre_processus)
    chemin = ecrire_configuration_nginx(plan)
    environnement = environnement_processus()
    journaux = [open(Path(plan.dossier_execution) / f"processus-{port}.log", "a", encoding="utf-8")
                for port in plan.ports]
    lances: list[subprocess.Popen] = []
    signal.signal(signal.SIGTERM, _interrompre)
    try:
        for port, journal in zip(plan.ports, journaux):
            lances.append(lancer_processus_streamlit(port, environnement, journal, list(options or [])))
        for port, un in zip(plan.ports, lances):
            attendre_sante(f"http://127.0.0.1:{port}", un)
        lances.append(lancer_nginx(chemin))
        print(f"Désimper : {plan.nombre_processus} processus derrière nginx sur "
              f"http://{plan.adresse_mandataire}:{plan.port_mandataire} (journaux : {plan.dossier_execution}).",
              flush=True)
        while all(un.poll() is None for un in lances):
            time.sleep(1)
        arrete = next(un for un in lances if un.poll() is not None)
        print(f"Un processus s'est arrêté (code {arrete.returncode}) : arrêt du service.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        arreter_processus(lances)
        for journal in journaux:
            journal.close()
