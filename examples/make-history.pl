#!/usr/bin/perl
# make-history.pl -- writes examples/history.csv, a year of flat-rate
# allocations of the fictional Nordwerk Group (the group of market.json), in
# the shape finance exports from its ERP:
#
#   period,sender_cc,receiver_cc,service,quantity,amount
#
#   perl examples/make-history.pl > examples/history.csv
#
# Deterministic: its own Park-Miller generator (integer arithmetic only), so
# the same file on every machine; needs nothing but Debian's perl-base.
#
# What the year shows (so that `imx-sim run --history` has something to say):
# - per_unit planned rates on it.helpdesk.hour (85.00), truck.day (420.00)
#   and lab.test (180.00): the rate hides that Leipzig's desk and trucks are
#   cheaper to run than Hamburg's and Munich's;
# - percent keys on payroll.run, warehouse.m2month and translation.page: each
#   provider's monthly cost pool is spread over the cost centres it serves by
#   fixed shares agreed a year ago, so the margin looks free. Warehouse space
#   costs Leipzig about 7.50 per m2-month and Munich 13.00; payroll runs
#   cost Hamburg more than Munich;
# - Marketing (CC-1500) orders ten times the translation pages its 9 % share
#   pays for, and uses warehouse space for fair material it rarely needs;
# - seasons: helpdesk peaks in January and September, trucks in autumn,
#   warehouse space in the fourth quarter, the lab in spring, and December
#   has a second (bonus) payroll run.
use strict;
use warnings;

my $seed = 20260101;
sub rnd {    # uniform integer in [lo, hi]
  my ($lo, $hi) = @_;
  $seed = ($seed * 16807) % 2147483647;
  return $lo + $seed % ($hi - $lo + 1);
}

# id => [site, headcount]
my %cc = (
  'CC-4100' => ['Hamburg', 30], 'CC-4200' => ['Leipzig', 22],
  'CC-5100' => ['Hamburg', 12], 'CC-5200' => ['Munich', 9],
  'CC-6100' => ['Leipzig', 64], 'CC-6200' => ['Munich', 38],
  'CC-7100' => ['Cologne', 17], 'CC-7200' => ['Cologne', 26],
  'CC-1100' => ['Hamburg', 42], 'CC-1110' => ['Leipzig', 28],
  'CC-1200' => ['Munich', 37],  'CC-1210' => ['Munich', 12],
  'CC-1300' => ['Leipzig', 180], 'CC-1310' => ['Munich', 140],
  'CC-1320' => ['Hamburg', 95], 'CC-1330' => ['Leipzig', 22],
  'CC-1340' => ['Leipzig', 30], 'CC-1400' => ['Cologne', 65],
  'CC-1410' => ['Munich', 40],  'CC-1420' => ['Hamburg', 14],
  'CC-1500' => ['Hamburg', 18], 'CC-1510' => ['Cologne', 9],
  'CC-1600' => ['Hamburg', 16], 'CC-1610' => ['Leipzig', 11],
  'CC-1700' => ['Hamburg', 20], 'CC-1800' => ['Hamburg', 24],
  'CC-1810' => ['Munich', 8],   'CC-1900' => ['Leipzig', 35],
  'CC-1910' => ['Munich', 26],  'CC-2000' => ['Leipzig', 19],
  'CC-2100' => ['Munich', 15],  'CC-9000' => ['Hamburg', 11],
);
my @all = sort keys %cc;

# Seasonal factors in percent, January first.
my %season = (
  it    => [130, 105, 100, 95, 95, 90, 80, 70, 115, 105, 100, 85],
  truck => [85, 85, 95, 100, 100, 95, 90, 95, 125, 135, 130, 105],
  wh    => [95, 90, 90, 95, 95, 95, 100, 100, 105, 115, 125, 130],
  lab   => [90, 110, 125, 130, 115, 100, 85, 75, 100, 105, 100, 70],
  page  => [95, 100, 105, 100, 95, 90, 80, 85, 110, 110, 105, 90],
);

my @rows;    # [period, sender, receiver, service, qty, cents]
sub money { my $c = shift; sprintf('%d.%02d', int($c / 100), $c % 100) }

# A monthly quantity: base x season x noise (+-jitter %), whole units.
sub qty {
  my ($base, $s, $m, $jitter) = @_;
  my $q = $base * $season{$s}[$m] * (100 + rnd(-$jitter, $jitter));
  return int(($q + 5000) / 10000);
}

# per_unit services: amount = quantity x rate.
sub per_unit {
  my ($service, $rate, $s, $home, $demand) = @_;
  for my $m (0 .. 11) {
    for my $r (sort keys %$demand) {
      my $q = qty($demand->{$r}, $s, $m, 15);
      push @rows, [$m, $home->($r), $r, $service, $q, $q * $rate];
    }
  }
}

# percent services: each provider's pool (fixed + variable cost of what it
# served) spread over its receivers by fixed shares (basis points).
sub percent {
  my ($service, $qfn, $home, $demand, $share, $fixed, $var) = @_;
  for my $m (0 .. 11) {
    my (%q, %pool);
    for my $r (sort keys %$demand) {
      $q{$r} = $qfn->($demand->{$r}, $m);
      $pool{$home->($r)} += $q{$r} * $var->{$home->($r)};
    }
    for my $p (keys %pool) { $pool{$p} += $fixed->{$p} }
    for my $r (sort keys %$demand) {
      my $p = $home->($r);
      push @rows, [$m, $p, $r, $service, $q{$r}, int($pool{$p} * $share->{$r} / 10000)];
    }
  }
}

# Shares of a provider's pool by weight, summing to 10000 per provider.
sub shares_by {
  my ($home, $weight) = @_;
  my (%sum, %bp, %given);
  $sum{$home->($_)} += $weight->{$_} for keys %$weight;
  for my $r (sort keys %$weight) {
    $bp{$r} = int($weight->{$r} * 10000 / $sum{$home->($r)});
    $given{$home->($r)} += $bp{$r};
  }
  for my $r (sort keys %$weight) {    # the rounding rest to the first
    my $p = $home->($r);
    next unless $given{$p} < 10000;
    $bp{$r} += 10000 - $given{$p};
    $given{$p} = 10000;
  }
  return \%bp;
}

# ---- it.helpdesk.hour: per_unit 85.00; Hamburg and Cologne call Hamburg,
# Leipzig and Munich call Leipzig. About 0.6 hours a head a month.
{
  my %d;
  for my $c (@all) {
    next if $c eq 'CC-4100' || $c eq 'CC-4200';
    $d{$c} = int($cc{$c}[1] * 6 / 10) + 4;
  }
  $d{'CC-1500'} = 30;    # Marketing's campaign tools
  my $home = sub { $cc{$_[0]}[0] =~ /Hamburg|Cologne/ ? 'CC-4100' : 'CC-4200' };
  per_unit('it.helpdesk.hour', 8500, 'it', $home, \%d);
}

# ---- truck.day: per_unit 420.00; Munich's fleet serves Munich.
{
  my %d = ('CC-1300' => 48, 'CC-1310' => 36, 'CC-1320' => 22, 'CC-2000' => 18,
           'CC-2100' => 12, 'CC-1100' => 9, 'CC-1200' => 7, 'CC-1900' => 5);
  my $home = sub { $cc{$_[0]}[0] eq 'Munich' ? 'CC-6200' : 'CC-6100' };
  per_unit('truck.day', 42000, 'truck', $home, \%d);
}

# ---- lab.test: per_unit 180.00, one laboratory.
{
  my %d = ('CC-1400' => 120, 'CC-1330' => 85, 'CC-1300' => 40, 'CC-1310' => 35,
           'CC-1410' => 30, 'CC-2100' => 10);
  per_unit('lab.test', 18000, 'lab', sub { 'CC-7200' }, \%d);
}

# ---- payroll.run: percent. One run a cost centre a month (two in
# December); Hamburg runs cost 640.00 each plus 5,200.00 a month, Munich
# 410.00 plus 3,100.00. Shares by headcount.
{
  my (%d, %w);
  for my $c (@all) {
    next if $c eq 'CC-5100' || $c eq 'CC-5200';
    $d{$c} = 1;
    $w{$c} = $cc{$c}[1];
  }
  my $home = sub { $cc{$_[0]}[0] =~ /Hamburg|Cologne/ ? 'CC-5100' : 'CC-5200' };
  my $share = shares_by($home, \%w);
  my $runs = sub { $_[1] == 11 ? 2 : 1 };    # December's bonus run
  percent('payroll.run', $runs, $home, \%d, $share,
          {'CC-5100' => 520000, 'CC-5200' => 310000},
          {'CC-5100' => 64000, 'CC-5200' => 41000});
}

# ---- warehouse.m2month: percent. Leipzig's halls cost 3.20 an m2-month
# plus 21,000.00 a month; Munich's 6.50 plus 18,500.00. Shares fixed on last
# year's contracted space; Marketing keeps fair material it rarely uses.
{
  my %d = ('CC-1300' => 2400, 'CC-1310' => 1800, 'CC-1320' => 900, 'CC-2000' => 1500,
           'CC-2100' => 700, 'CC-1200' => 150, 'CC-1500' => 400, 'CC-1900' => 250);
  my %contract = (%d, 'CC-1500' => 120);
  my $home = sub { $cc{$_[0]}[0] eq 'Munich' ? 'CC-6200' : 'CC-6100' };
  percent('warehouse.m2month', sub { qty($_[0], 'wh', $_[1], 10) }, $home, \%d, shares_by($home, \%contract),
          {'CC-6100' => 2100000, 'CC-6200' => 1850000},
          {'CC-6100' => 320, 'CC-6200' => 650});
}

# ---- translation.page: percent, one team in Cologne (38,000.00 a month
# plus 4.00 a page). Marketing's share is 9 % but it orders most pages.
{
  my %d = ('CC-1500' => 950, 'CC-1100' => 60, 'CC-1200' => 70, 'CC-1210' => 45,
           'CC-1400' => 160, 'CC-1810' => 55, 'CC-1510' => 80, 'CC-1420' => 40,
           'CC-1910' => 35);
  my %share = ('CC-1500' => 900, 'CC-1100' => 1000, 'CC-1200' => 1100,
               'CC-1210' => 700, 'CC-1400' => 2400, 'CC-1810' => 1300,
               'CC-1510' => 1200, 'CC-1420' => 700, 'CC-1910' => 700);
  percent('translation.page', sub { qty($_[0], 'page', $_[1], 25) }, sub { 'CC-7100' }, \%d, \%share,
          {'CC-7100' => 3800000}, {'CC-7100' => 400});
}

print "period,sender_cc,receiver_cc,service,quantity,amount\n";
for my $r (sort { $a->[0] <=> $b->[0] || $a->[3] cmp $b->[3] || $a->[1] cmp $b->[1]
                    || $a->[2] cmp $b->[2] } @rows) {
  printf "2026-%02d,%s,%s,%s,%d,%s\n", $r->[0] + 1, $r->[1], $r->[2], $r->[3], $r->[4],
    money($r->[5]);
}
